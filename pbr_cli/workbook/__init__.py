"""Reading an xlsx workbook safely, whoever made it: the gate (the file, its zip and each
sheet's XML, bounded before any parser sees them) and the reader (each sheet's values, once).
Returns and contract registers are both read through it."""
