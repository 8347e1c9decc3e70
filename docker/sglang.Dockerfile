# syntax=docker/dockerfile:1
# SGLang with scorecar's extensions (patches/, the Python package scorecar_sglang) on top of the
# upstream image of the SGLang release the project pins (sglang==0.5.23). Build from the
# repository root:
#   docker build -f docker/sglang.Dockerfile -t scorecar-sglang:0.5.23 .
#
# Base image: lmsysorg/sglang, the SGLang project's own image repository. Its release workflow
# tags a release X as vX (CUDA 12.9, the full "framework" image), vX-runtime (CUDA 12.9, the
# slimmer "runtime" target without the build toolchain), and vX-cu130 / vX-cu130-runtime
# (CUDA 13.0). The runtime target is enough here: the patches are pure Python and nothing is
# compiled. Use SGLANG_IMAGE=lmsysorg/sglang:v0.5.23-cu130-runtime for CUDA 13 drivers.
ARG SGLANG_IMAGE=lmsysorg/sglang:v0.5.23-runtime

FROM ${SGLANG_IMAGE}
# The patches are imported from PYTHONPATH, exactly as patches/README.md runs them; nothing is
# pip-installed, so the upstream environment stays as released.
COPY patches/scorecar_sglang /opt/scorecar/patches/scorecar_sglang
COPY patches/manifest /opt/scorecar/patches/manifest
COPY docker/sglang-entrypoint.sh /opt/scorecar/sglang-entrypoint.sh
ENV PYTHONPATH=/opt/scorecar/patches \
    SGLANG_MODEL_PATH=Qwen/Qwen3-0.6B \
    SGLANG_HOST=0.0.0.0 \
    SGLANG_PORT=30000 \
    SGLANG_DP_SIZE=1
EXPOSE 30000
# SGLang's own /health answers 200 once the server serves; the model load takes minutes.
HEALTHCHECK --interval=15s --timeout=5s --start-period=600s --retries=3 \
  CMD ["python3", "-c", "import os,sys,urllib.request as u; sys.exit(0 if u.urlopen('http://127.0.0.1:%s/health' % os.environ.get('SGLANG_PORT','30000'), timeout=4).status == 200 else 1)"]
# The wrapper turns SGLANG_* variables into flags and `exec`s
# `python3 -m scorecar_sglang.launch`, which then is PID 1 and gets SIGTERM directly. Arguments
# given to the container are appended (SGLang flags or --scorecar-* flags).
ENTRYPOINT ["/opt/scorecar/sglang-entrypoint.sh"]
CMD []
