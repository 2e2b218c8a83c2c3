from __future__ import annotations

from django.db import migrations


def seed(apps, schema_editor):
    from policies.engine import compile_policy
    from policies.presets import PRESETS

    Policy = apps.get_model("policies", "Policy")
    PolicyVersion = apps.get_model("policies", "PolicyVersion")
    for name, document in PRESETS.items():
        policy, _ = Policy.objects.get_or_create(
            org=None, name=name, defaults={"description": document.get("description", "")}
        )
        version = compile_policy(document).version
        row = PolicyVersion.objects.filter(policy=policy, version=version).first()
        if row is None:
            number = PolicyVersion.objects.filter(policy=policy).count() + 1
            row = PolicyVersion.objects.create(
                policy=policy, version=version, document=document, number=number, note="preset"
            )
        policy.current = row
        policy.save(update_fields=["current"])


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
