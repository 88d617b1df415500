"""The scripted ``hodei`` commands: parsing, calls to the daemon, and their output."""
