"""manage.py policy_eval: recall, precision and false-positive rate per detector, and latency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies.engine import compile_policy
from policies.evaluation import evaluate_corpus, format_latency, format_report, latency_report
from policies.models import Policy

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


class Command(BaseCommand):
    help = "Evaluate a policy's detectors on a labelled corpus and time full policy passes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--policy", default="recommended", help="platform policy name")
        parser.add_argument("--corpus", type=Path, action="append", help="dir or .jsonl file")
        parser.add_argument("--no-latency", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        policy = (
            Policy.objects.select_related("current")
            .filter(org=None, name=options["policy"])
            .first()
        )
        if policy is None or policy.current is None:
            raise CommandError(f"no platform policy named {options['policy']!r}")
        compiled = compile_policy(policy.current.document)
        self.stdout.write(f"policy {policy.name} version {compiled.version[:16]}")
        for corpus in options["corpus"] or [CORPUS]:
            if not corpus.exists():
                raise CommandError(f"{corpus} does not exist")
            self.stdout.write(f"\ncorpus: {corpus}")
            self.stdout.write(format_report(evaluate_corpus(compiled, corpus)))
        if not options["no_latency"]:
            self.stdout.write("\nfull `recommended` policy pass per prompt size (chars)")
            self.stdout.write(format_latency(latency_report()))
