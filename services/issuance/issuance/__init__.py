"""The issuance service: each region's program and the monthly runs that grant meal tickets."""
