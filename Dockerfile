# FBC2 (FusionBrain Challenge 2.0) image for run.py: CUDA PyTorch, Java, every dependency and the weights.
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
# taken from public Dockerfiles; it was not pulled here (no Docker engine where this kit was written).
ARG BASE_IMAGE=pytorch/pytorch:2.5.1-cuda11.8-cudnn9-runtime
FROM ${BASE_IMAGE}

# The weights folder (inside the build context) that becomes weights/demo, run.py's default.
ARG WEIGHTS=weights/demo

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

# Java for pycocoevalcap; a C++ toolchain to build youtokentome. (mkdir: some slim bases lack the
# man folder that the JRE's post-install script writes to.)
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && apt-get install -y --no-install-recommends default-jre-headless build-essential \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /fbc2/solution

# The weights first: they change least, so their (large) layer stays cached across code changes.
COPY ${WEIGHTS} weights/demo/

# The code and the one install script (the README's); --system keeps the base image's CUDA torch.
COPY pyproject.toml README.md requirements.txt run.py ./
COPY scripts/ scripts/
COPY solution/ solution/
COPY evaluator/ evaluator/
COPY sample_input/ sample_input/
RUN bash scripts/install.sh --system \
    && python3 -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda)" \
    && python3 run.py --help > /dev/null

CMD ["python3", "run.py"]
