"""Default request limits of ``agent serve`` (a light module: the CLI reads them for --help)."""

MAX_BODY_BYTES = 48 * 1024 * 1024  # three 4K screenshots as base64 PNG fit comfortably
MAX_IMAGE_PIXELS = 6144 * 6144  # ~37.7 MP per image: above any real screen, far below OOM
LIMIT_IMAGES = 8  # per request (the agent sends history_images + 1)
MAX_NEW_TOKENS_LIMIT = 4096
MAX_PENDING = 16  # requests waiting for or holding the model
QUEUE_TIMEOUT_S = 120.0  # longest wait for the model before a 503
BODY_TIMEOUT_S = 30.0  # longest time to receive a request body (slow-loris)
HEADER_TIMEOUT_S = 5.0  # longest time to deliver a request head after connecting
MAX_UNAUTHENTICATED = 64  # open connections whose head has not passed the token check
MAX_CONNECTIONS_PER_CLIENT = 256  # open authenticated connections from one address
MAX_CONNECTIONS = 2048  # open authenticated connections in all
MAX_REQUEST_PIXELS = 80 * 1024 * 1024  # decoded pixels over all images of one request
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")  # the only formats ever decoded
