"""The HTTP gateway: the JSON API that the household app and the staff tools talk to.

It holds no business data. For each request it finds out who is calling, checks that the
route serves that role and that the ids in the path are the caller's own, checks the shape of
what was sent, asks the services over RPC, and turns their answers and errors into JSON.
"""
