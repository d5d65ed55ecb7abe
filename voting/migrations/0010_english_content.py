# Poll content in English beside the Korean (issue 18): blank by default, no data to move.

from django.db import migrations, models


ENGLISH_HELP = "Optional: shown to readers of English. Left empty, they read the Korean."


class Migration(migrations.Migration):
    dependencies = [
        ("voting", "0009_media"),
    ]

    operations = [
        migrations.AddField(
            model_name="poll",
            name="title_en",
            field=models.CharField(
                blank=True, help_text=ENGLISH_HELP, max_length=200, verbose_name="English title"
            ),
        ),
        migrations.AddField(
            model_name="poll",
            name="description_en",
            field=models.TextField(
                blank=True,
                help_text="Markdown. " + ENGLISH_HELP,
                verbose_name="English description",
            ),
        ),
        migrations.AddField(
            model_name="option",
            name="label_en",
            field=models.CharField(
                blank=True, help_text=ENGLISH_HELP, max_length=200, verbose_name="English label"
            ),
        ),
        migrations.AddField(
            model_name="option",
            name="description_en",
            field=models.TextField(
                blank=True, help_text=ENGLISH_HELP, verbose_name="English description"
            ),
        ),
    ]
