"""Assurance: what a commissioner checks after paying. The signals of gaming (signals*.py)
read a period's records and schedules and say which providers a commissioner might ask
about; they never change a payment."""
