"""The suite's shared vocabulary, pure logic without I/O: identifiers (ID number, USCC, unit names),
registration categories, record kinds and statuses."""
