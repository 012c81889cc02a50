"""Support: the desk the journey model calls, the contact centre behind it (closed-form
queues and a SimPy model of a period), and the channels contacts go through (phone, chat,
self-service)."""
