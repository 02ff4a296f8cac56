"""The paper venue: a server that speaks OANDA's v20 REST API (and its streams) over prices
from the security master or a seeded random walk, with its state in the database."""
