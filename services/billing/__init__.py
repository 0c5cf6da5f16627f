"""The billing service: fee items, bills, WeChat Pay payments, receipts, arrears and reports."""
