"""Stand-in for SamplingParams: only the fields a prefill-only scoring request uses."""


class SamplingParams:
    def __init__(self, max_new_tokens: int = 128, temperature: float = 1.0, custom_params=None, **_):
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.custom_params = custom_params
