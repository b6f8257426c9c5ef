"""The ``ekyc`` command line: the composition root that wires readers, domain and API.

One module per command group. Hardware (pyscard) and the web stack are imported inside
the commands that need them, so ``ekyc`` works on a server without a reader and on a
kiosk without the API.
"""

from __future__ import annotations

import click

from api.cli import keys  # `ekyc keys …` lives with the API (it manages API keys)
from ekyc.cli import bench as bench_cli
from ekyc.cli import certs as certs_cli
from ekyc.cli import chip as chip_cli
from ekyc.cli import documents as documents_cli
from ekyc.cli import face as face_cli
from ekyc.cli import inference as inference_cli
from ekyc.cli import liveness as liveness_cli
from ekyc.cli import model_registry as models_cli
from ekyc.cli import service as service_cli


@click.group()
@click.version_option(package_name="ekyc")
def main() -> None:
    """Biometric eKYC and document verification for Vietnamese citizen ID cards."""


for command in (
    chip_cli.chip,
    models_cli.models,
    face_cli.face,
    liveness_cli.liveness,
    service_cli.reader_bridge,
    service_cli.serve,
    bench_cli.bench,
    inference_cli.inference,
    documents_cli.ocr,
    documents_cli.compare_cmd,
    keys,
    certs_cli.certs,
    certs_cli.verify_pdf,
):
    main.add_command(command)
