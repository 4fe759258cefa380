"""Handover defects (收楼/入伙遗留问题): a project's handover batch imported from a spreadsheet (``batches``),
each unit's ``handover`` process recording the defects its owner raises, each a repair ticket inside the
warranty (``defects``), and the progress per project and building (``progress``)."""
