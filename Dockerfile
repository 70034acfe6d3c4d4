# FBC2 (FusionBrain Challenge 2.0) image for run.py: the base image's CUDA PyTorch, what run.py needs
# (scripts/install.sh --system --runtime, procps for eco2AI) and the weights. No compiler, no Java, no
# test tools. scripts/docker_check.sh builds and runs it for real on a CPU stand-in base.
#
#   docker build -t fbc2-rudolph:0.1.0 .                                  # weights from weights/demo
#   docker build -t fbc2-rudolph:0.1.0 --build-arg WEIGHTS=weights/fbc2 .  # another folder of the context
#   docker run --rm --gpus all --network none \
#     -v "$PWD/sample_input:/fbc2/input:ro" -v "$PWD/out:/fbc2/solution/output" fbc2-rudolph:0.1.0
#
# The layout is the platform's: the working directory /fbc2/solution holds run.py, input is read from
# ../input (/fbc2/input) and output written to ./output (/fbc2/solution/output). The command is CMD, not
# ENTRYPOINT, so the platform's own command ("python3 run.py" from metadata.json) replaces it cleanly.
# Nothing is downloaded when the container runs; everything is installed here, at build time.

# PyTorch 2.5.1 with CUDA 11.8 and cuDNN 9, Python 3.11 (conda, /opt/conda). CUDA 11.8
# runs on older drivers than CUDA 12 builds and supports the A100 (sm_80) of the platform. The tag is
# taken from public Dockerfiles; it has not been pulled or built with this Dockerfile yet (the stand-in
# of scripts/docker_check.sh has its layout: python3 in /opt/conda/bin, root, apt-get).
ARG BASE_IMAGE=pytorch/pytorch:2.5.1-cuda11.8-cudnn9-runtime

FROM ${BASE_IMAGE}

# The weights folder (inside the build context) that becomes weights/demo, run.py's default.
ARG WEIGHTS=weights/demo

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# procps: eco2AI runs `top -b -n1 -p PID` every 10 s; without it every measurement is a traceback and
# output/emission.csv (the file the sustainability category ranks) is never written. The PyTorch runtime
# images are a minimal Ubuntu, so it is installed here (and the apt lists and cache removed).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends procps \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && top -b -n1 > /dev/null

# The one install script (the README's), in runtime mode: requirements.txt and eco2ai into the base
# image's python3 (nothing to compile: run.py reads the BPE model in pure Python, so youtokentome is not
# needed). install.sh keeps the base image's torch and fails if anything changed it; the last line fails
# unless that torch is a CUDA build. REQUIRE_CUDA=0 lets a CPU base through (scripts/docker_check.sh's
# stand-in, which has no GPU anyway); the default, 1, is the contest's image.
ARG REQUIRE_CUDA=1
COPY requirements.txt /tmp/fbc2-install/
COPY scripts/install.sh /tmp/fbc2-install/scripts/
RUN case "$REQUIRE_CUDA" in 0|1) ;; *) echo "REQUIRE_CUDA must be 0 or 1, not '$REQUIRE_CUDA'" >&2; exit 1 ;; esac \
    && bash /tmp/fbc2-install/scripts/install.sh --system --runtime \
    && rm -rf /tmp/fbc2-install \
    && if [ "$REQUIRE_CUDA" = 1 ]; then python3 -c "import sys, torch; sys.exit(None if torch.version.cuda else 'torch ' + torch.__version__ + ' is not a CUDA build (REQUIRE_CUDA=0 lets a CPU base through)')"; fi

WORKDIR /fbc2/solution

# The weights before the code: they change less often, so their (large) layer stays cached.
COPY ${WEIGHTS} weights/demo/
COPY run.py ./
COPY solution/ solution/
COPY fbc2_io/ fbc2_io/
RUN python3 run.py --help > /dev/null

CMD ["python3", "run.py"]
