"""HTTP routers: sessions and steps, results, stateless helpers, keys and audit."""
