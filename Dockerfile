# Image for elastic.io's custom Docker build. Every way the platform starts a component
# works here (README, Deployment): the default command is task mode; `python -m
# elasticio_sailor service <method>` is service mode; the older buildpack's scripts in the
# working directory, `sail.sh` (task mode) and `serve.sh <method> [args]` (service mode),
# mean the same.
# The base image by tag and by the digest of its multi-architecture index: a rebuild gets
# the same base, whatever the tag points at later. Move both together.
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them. The lock pins every
# package with the hashes of its files (./scripts/lock); the sailor is built from its
# folder with the locked setuptools, without fetching a build backend.
COPY requirements.txt ./
COPY sailor/ ./sailor/
RUN pip install --no-cache-dir --require-hashes -r requirements.txt \
    && pip install --no-cache-dir --no-deps --no-build-isolation ./sailor \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app

COPY component.json verifyCredentials.py logo.png sail.sh serve.sh ./
COPY lib/ ./lib/
COPY schemas/ ./schemas/

USER 10001:10001

# Task mode (the Node sailor's run.js; ./sail.sh is the same). Service mode (runService.js):
#   python -m elasticio_sailor service verifyCredentials|getMetaModel|selectModel
#   ./serve.sh verifyCredentials|getMetaModel|selectModel
CMD ["python", "-m", "elasticio_sailor", "run"]
