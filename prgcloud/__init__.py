"""prgcloud: `gcloud ai custom-jobs create`, checked against its persistent resource first."""

__version__ = "0.1.0"
