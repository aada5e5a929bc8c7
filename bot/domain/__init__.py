"""The pure domain core: records, vocabularies, number rules, proration, pricing, levelling, the approval policy
and name matching. Plain functions over plain data; nothing here imports the ORM, HTTP or Slack (an import contract
in pyproject.toml checks it), so it loads without them (`bench/domain_import.py`) and is tested without I/O."""
