"""The actions: one module per kind of request a caller makes. An action checks who asks and
what, runs at most one write job made of ``services.lib`` steps, and publishes the job's
events after the commit. It never touches the store but through the library, and never calls
another action.
"""
