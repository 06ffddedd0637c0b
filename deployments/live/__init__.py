"""The ``live`` Serve application: today's bars streamed to charts as they form."""
