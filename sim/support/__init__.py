"""Support: the desk the journey model calls, and the contact centre behind it (closed-form
queues and a SimPy model of a period)."""
