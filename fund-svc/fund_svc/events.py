"""What fund-svc publishes: one event per person a change touched, stating all the person's current
deposits (DepositsRecordedV1); and the replay of them."""

from __future__ import annotations

from fund_svc.records import RECORDS

CHANGE_STREAMS = tuple(records.change_stream for records in RECORDS)
PUBLISHES = tuple(stream.model.topic for stream in CHANGE_STREAMS)
REPLAYERS = {records.name: records.replay for records in RECORDS}
