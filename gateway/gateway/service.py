"""The gateway service: its dependencies, and the routes of every audience put together.

The routes live in :mod:`gateway.routes`, one module per audience; nameko finds the entrypoints
of the classes this one inherits from as if they were its own.
"""

from nameko_prometheus import PrometheusMetrics

from shokudo_common.logs import CorrelationId
from shokudo_common.rpc import ServiceRpc

from gateway.auth import Tokens
from gateway.routes.documentation import DocumentationRoutes
from gateway.routes.household import HouseholdRoutes
from gateway.routes.lists import RestaurantListRoutes
from gateway.routes.operations import OperationsRoutes
from gateway.routes.operator import OperatorRoutes
from gateway.routes.organisation import OrganisationRoutes
from gateway.routes.public import PublicRoutes
from gateway.routes.restaurant import RestaurantRoutes
from gateway.routes.signin import SignInRoutes
from gateway.sessions import Sessions
from gateway.throttle import RateLimits


class GatewayService(OperationsRoutes, DocumentationRoutes, SignInRoutes, PublicRoutes,
                     OperatorRoutes, OrganisationRoutes, RestaurantRoutes, HouseholdRoutes,
                     RestaurantListRoutes):
    name = "gateway"

    correlation = CorrelationId()
    metrics = PrometheusMetrics()
    tokens = Tokens()
    sessions = Sessions()
    throttle = RateLimits()

    directory = ServiceRpc("directory")
    enrollment = ServiceRpc("enrollment")
    issuance = ServiceRpc("issuance")
    redemption = ServiceRpc("redemption")
    notification = ServiceRpc("notification")
