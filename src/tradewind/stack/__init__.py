"""The compose stack's own small tools: ``secrets`` (generate and check the stack's .env),
``wait`` (wait for the services a container needs before it starts), ``probe`` (healthchecks
of Tradewind's own services) and ``buckets`` (create the object-store buckets). ``secrets``,
``wait`` and ``probe`` use the standard library only: the Superset image runs them too."""
