"""The wire side: the ASGI app, REST-JSON binding and serialisation, routes, validation, SigV4, rates."""
