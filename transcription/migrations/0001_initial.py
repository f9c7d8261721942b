"""AudioWindow and Retranscription move here from ``streams`` (state only).

Their tables (``streams_audiowindow``, ``streams_retranscription``) were created by
``streams/migrations/0001_initial.py`` and ``0004_retranscription.py`` and stay as they are:
this migration only tells Django's state that the models now belong to ``transcription``;
``streams/migrations/0006_move_transcription_models.py`` removes them from ``streams``' state.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("meetings", "0002_actionitem_owner_kind"),
        ("streams", "0005_stream_retrying"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='AudioWindow',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('byte_offset', models.BigIntegerField()),
                        ('byte_length', models.BigIntegerField()),
                        ('start_ms', models.BigIntegerField()),
                        ('end_ms', models.BigIntegerField()),
                        ('is_final', models.BooleanField(default=True)),
                        ('is_tentative', models.BooleanField(default=False)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('done', 'Transcribed'), ('empty', 'No speech'), ('failed', 'Failed')], default='pending', max_length=16)),
                        ('source_key', models.CharField(max_length=200)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('engine', models.CharField(blank=True, max_length=32)),
                        ('error', models.CharField(blank=True, max_length=300)),
                        ('queued_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('done_at', models.DateTimeField(blank=True, null=True)),
                        ('speech_end_wall_ms', models.BigIntegerField(blank=True, null=True)),
                        ('participant', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='windows', to='meetings.participant')),
                        ('recording', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='windows', to='meetings.audiorecording')),
                        ('stream', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='windows', to='streams.stream')),
                    ],
                    options={
                        'db_table': 'streams_audiowindow',
                        'ordering': ['recording', 'start_ms', 'pk'],
                        'indexes': [models.Index(fields=['status', 'queued_at'], name='streams_audiowindow_status')],
                        'constraints': [models.UniqueConstraint(fields=('recording', 'byte_offset', 'byte_length', 'is_final'), name='streams_audiowindow_unique_range'), models.CheckConstraint(condition=models.Q(('byte_offset__gte', 0), ('byte_length__gt', 0)), name='streams_audiowindow_valid_range'), models.CheckConstraint(condition=models.Q(('end_ms__gte', models.F('start_ms'))), name='streams_audiowindow_ends_after_start')],
                    },
                ),
                migrations.CreateModel(
                    name='Retranscription',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='running', max_length=16)),
                        ('audio_ms', models.BigIntegerField(default=0)),
                        ('done_ms', models.BigIntegerField(default=0)),
                        ('started_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('meeting', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='retranscriptions', to='meetings.meeting')),
                    ],
                    options={
                        'db_table': 'streams_retranscription',
                        'ordering': ['-started_at', '-pk'],
                        'indexes': [models.Index(fields=['meeting', 'status'], name='streams_retranscription_state')],
                    },
                ),
            ],
        ),
    ]
