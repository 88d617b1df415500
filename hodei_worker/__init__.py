"""hodei-worker: the agent that holds one stream to ``hodeid`` and runs the jobs it is sent."""
