from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.db import migrations


def seed(apps, schema_editor):
    from billing.price_seed import PRICES_TAKEN_ON, SEED, SOURCE

    Price = apps.get_model("billing", "Price")
    effective = datetime.fromisoformat(PRICES_TAKEN_ON).replace(tzinfo=UTC)
    for model, (inp, out, cached, write, max_out) in SEED.items():
        if Price.objects.filter(model=model).exists():
            continue
        Price.objects.create(
            model=model,
            input_per_million=Decimal(inp),
            output_per_million=Decimal(out),
            cached_input_per_million=Decimal(cached) if cached else None,
            cache_write_per_million=Decimal(write) if write else None,
            max_output_tokens=max_out or 1,
            effective_from=effective,
            source=SOURCE,
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
