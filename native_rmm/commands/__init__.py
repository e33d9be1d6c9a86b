"""The command queue: enqueue, push over the WebSocket, hand out at check-in, results, timeouts."""
