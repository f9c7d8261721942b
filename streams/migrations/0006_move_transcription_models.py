"""AudioWindow and Retranscription now belong to the ``transcription`` app (state only).

The tables keep their names and rows (``Meta.db_table`` in ``transcription/models.py``); the
content types are renamed so admin log entries and permissions follow the models.
"""

from django.db import migrations


def content_types_to(app_label):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        for model in ("audiowindow", "retranscription"):
            if ContentType.objects.filter(app_label=app_label, model=model).exists():
                continue  # already there (created after a reverse migration): nothing to rename
            ContentType.objects.filter(model=model, app_label__in=("streams", "transcription")).update(
                app_label=app_label
            )

    return move


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("streams", "0005_stream_retrying"),
        ("transcription", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(model_name="retranscription", name="meeting"),
                migrations.DeleteModel(name="AudioWindow"),
                migrations.DeleteModel(name="Retranscription"),
            ],
        ),
        migrations.RunPython(content_types_to("transcription"), content_types_to("streams")),
    ]
