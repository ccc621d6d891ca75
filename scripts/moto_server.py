#!/usr/bin/env python3
"""moto_server, with the one AWS behaviour the stack uses that moto 5.2.5
lacks: a Lambda function's DeadLetterConfig is accepted by CreateFunction and
UpdateFunctionConfiguration but never stored or returned. Here it is stored
and returned by GetFunction and GetFunctionConfiguration, as AWS does (an
empty TargetArn removes it). Everything else is moto's own.

    .venv/bin/python scripts/moto_server.py -H 127.0.0.1 -p PORT
"""
import sys

from moto.awslambda import models

_init = models.LambdaFunction.__init__
_get = models.LambdaFunction.get_configuration
_update = models.LambdaFunction.update_configuration


def _target(config):
    return ((config or {}).get("TargetArn") or "") or None


def __init__(self, account_id, spec, region, version=1):
    _init(self, account_id, spec, region, version)
    self.dead_letter_target = _target(spec.get("DeadLetterConfig"))


def get_configuration(self, *args, **kwargs):
    config = _get(self, *args, **kwargs)
    target = getattr(self, "dead_letter_target", None)
    if target:
        config["DeadLetterConfig"] = {"TargetArn": target}
    return config


def update_configuration(self, config_updates):
    if "DeadLetterConfig" in config_updates:
        self.dead_letter_target = _target(config_updates["DeadLetterConfig"])
    return _update(self, config_updates)


models.LambdaFunction.__init__ = __init__
models.LambdaFunction.get_configuration = get_configuration
models.LambdaFunction.update_configuration = update_configuration

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
