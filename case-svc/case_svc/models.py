"""Every table of case-svc, for Alembic: importing the nouns' models registers their tables on one MetaData."""

from __future__ import annotations

from case_svc.attachments import models as attachment_models
from case_svc.audit import models as audit_models
from case_svc.campaigns import models as campaign_models
from case_svc.cases import models as case_models
from case_svc.complaints import models as complaint_models
from case_svc.db import metadata
from case_svc.documents import models as document_models
from case_svc.publications import models as publication_models
from case_svc.register import models as register_models
from case_svc.reports import models as report_models

__all__ = [
    "attachment_models",
    "audit_models",
    "campaign_models",
    "case_models",
    "complaint_models",
    "document_models",
    "metadata",
    "publication_models",
    "register_models",
    "report_models",
]
