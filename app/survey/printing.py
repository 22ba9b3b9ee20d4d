"""The impact survey report as a signed PDF, through the printing service's sandboxed renderer.

The figures are the :class:`~app.survey.reports.Report` the page and the CSV show (already suppressed); this module
only lays them out: ``templates/pdf/survey_report.html`` (autoescaped, chart as a ``data:`` URI) rendered here, then
turned into a signed PDF/A by :mod:`app.printing.sandbox` in a child process with CPU, memory and time limits and
one of the machine's render slots. No Document row is stored: the report is a live view, printed on demand.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import format_datetime
from flask_babel import gettext as _

from app.core.db import utcnow
from app.core.i18n import force_locale
from app.printing.css import css_string
from app.printing.pdf import asset_url
from app.printing.sandbox import RenderLimits, render_in_child
from app.printing.signing import signing_config
from app.survey.charts import group_labels, likert_chart
from app.survey.questionnaire import Questionnaire
from app.survey.reports import THRESHOLD, Report

TEMPLATE = "pdf/survey_report.html"


@dataclass(frozen=True)
class PrintedReport:
    """What the PDF shows; ``scope_name`` is the organisation's name or "all organisations"."""

    questionnaire: Questionnaire
    report: Report
    comparison: list
    comments: list[str]
    versions: list[Questionnaire]
    scope_name: str


def view_label(questionnaire: Questionnaire, report: Report, breakdown_by: str | None, language: str) -> str:
    """The view the report was printed with, in words."""
    if report.filter:
        question = questionnaire.profile_question(report.filter[0])
        return _(
            "Only respondents who answered “%(value)s” to “%(question)s”.",
            value=question.option(report.filter[1]).label.get(language),
            question=question.label.get(language),
        )
    if breakdown_by and report.breakdown:
        return _("Broken down by %(question)s", question=report.breakdown[0].question.label.get(language))
    return _("All respondents")


def report_html(printed: PrintedReport, *, language: str, breakdown_by: str | None = None) -> str:
    """The report's HTML in ``language`` (a trusted, autoescaped template)."""
    questionnaire, report = printed.questionnaire, printed.report
    with force_locale(language):
        scale_labels = [o.label.get(language) for o in questionnaire.scale]
        chart = None
        if report.publishable and report.distributions:
            chart = likert_chart(
                list(report.distributions),
                title=questionnaire.title.get(language),
                scale_labels=scale_labels,
                language=language,
            )
        return render_template(
            TEMPLATE,
            doc={"kind": "survey"},  # the base template's cover class
            questionnaire=questionnaire,
            report=report,
            comparison=printed.comparison,
            comments=printed.comments,
            versions=printed.versions,
            scope_name=printed.scope_name,
            view_label=view_label(questionnaire, report, breakdown_by, language),
            printed_at=format_datetime(utcnow(), "long"),
            chart=chart,
            scale_labels=scale_labels,
            group_labels=group_labels(),
            threshold=THRESHOLD,
            language=language,
            asset=asset_url,
            css_string=css_string,
        )


def render_report_pdf(printed: PrintedReport, *, language: str, breakdown_by: str | None = None) -> bytes:
    """The signed PDF/A of the report, rendered in the bounded child process.

    :raises app.printing.sandbox.RenderFailed: timeout, resource limits, no free render slot, or a render error.
    """
    config = current_app.config
    signing = signing_config(config)
    job = {
        "html": report_html(printed, language=language, breakdown_by=breakdown_by),
        "variant": "pdf/a-3a",
        "attachments": [],
        "signing": {"key_path": signing.key_path, "cert_path": signing.cert_path, "passphrase": signing.passphrase},
        "signature": {
            "reason": f"Acquis impact survey report, version {printed.questionnaire.version}",
            "location": config["BASE_URL"],
            "name": "Acquis",
        },
    }
    output = render_in_child(job, instance_dir=config["INSTANCE_DIR"], limits=RenderLimits.from_config(config))
    return output.pdf
