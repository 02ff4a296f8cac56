"""Brokers behind one port: the OANDA v20 adapter (oandapyV20), for the paper venue or OANDA."""
