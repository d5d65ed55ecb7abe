import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("districts", "0002_load_seoul_districts"),
    ]

    operations = [
        migrations.AddField(
            model_name="group",
            name="jurisdiction",
            field=models.ForeignKey(
                blank=True,
                help_text="The gu whose officials manage this group. Empty: the city's officials.",
                limit_choices_to={"level": "gu"},
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="groups",
                to="districts.district",
                verbose_name="jurisdiction",
            ),
        ),
    ]
