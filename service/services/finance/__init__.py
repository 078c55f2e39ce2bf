"""Finance: bills (缴费单) and invoices (开票记录)."""
