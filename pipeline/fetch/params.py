"""The tunables of ``fetch`` and ``fetch-reference`` (the ``fetch:`` section of params.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_KINDS: dict[str, str] = {
    r"monitoring": "monitoring_letter",
    r"section 8|short inspection|ungraded inspection|no formal designation|unannounced": "section8_letter",
    r"section 5|^(full |graded )?inspection report|^full inspection": "section5_report",
}
"""The event-name patterns of params.yaml's ``fetch.kinds`` (kept in step with it by a test)."""

UNKNOWN = "unknown"
MANIFEST_NAME = ".manifest.csv"
"""The manifest's file name in the output folder (hidden: ingest skips it, as it skips ``.partial/``)."""
PARTIAL = ".partial"


@dataclass(frozen=True)
class FetchParams:
    """Tunables of the fetch and fetch-reference commands (``fetch:`` in params.yaml)."""

    site: str = "https://reports.ofsted.gov.uk"
    provider_path: str = "/provider/21/{urn}"
    contact: str = ""
    min_interval_s: float = 1.0
    timeout_s: float = 30.0
    max_download_s: float = 600.0
    retries: int = 4
    backoff_s: float = 2.0
    max_wait_s: float = 300.0
    max_consecutive_failures: int = 10
    max_redirects: int = 5
    max_bytes: int = 25_000_000
    max_page_bytes: int = 5_000_000
    max_failed_share: float = 0.5
    plan_max_pages: int = 200
    kinds: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_KINDS))
    gias_base_url: str = "https://ea-edubase-api-prod.azurewebsites.net/edubase/downloads/public/"
    gias_lookback_days: int = 7
    gov_uk_api: str = "https://www.gov.uk/api/content/"
    mi_page: str = "government/statistical-data-sets/monthly-management-information-ofsteds-school-inspections-outcomes"
    mi_attachment: str = "(?i)state-funded schools"
    mi_files: int = 1
    reference_max_bytes: int = 500_000_000
