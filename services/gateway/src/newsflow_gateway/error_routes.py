"""Routes that answer their own errors (their dependencies' too) in a shape of their own."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


class ErrorAnsweringRoute(APIRoute):
    """A route whose failures go to :meth:`answer_error`; what it does not answer (None) is raised on."""

    def answer_error(self, request: Request, exc: Exception) -> Response | None:
        raise NotImplementedError

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                response = self.answer_error(request, exc)
                if response is None:
                    raise
                return response

        return answer
