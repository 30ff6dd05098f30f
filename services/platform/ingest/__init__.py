"""The ingest machinery every data service shares: fields, upload formats, feeds, receipts, the pipeline that
stores an upload, the per-person records, and the routes that expose them."""
