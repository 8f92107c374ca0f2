"""The gateway's routes, one module per service; ``GatewayService`` inherits them all."""
