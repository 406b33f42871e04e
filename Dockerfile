# Image for elastic.io's custom Docker build. The platform starts it in task mode with the
# default command, and in service mode with `python -m elasticio_sailor service <method>`.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY requirements.txt ./
COPY sailor/ ./sailor/
RUN pip install --no-cache-dir -r requirements.txt \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app

COPY component.json verifyCredentials.py logo.png ./
COPY lib/ ./lib/
COPY schemas/ ./schemas/

USER 10001:10001

# Task mode (the Node sailor's run.js). Service mode (runService.js):
#   python -m elasticio_sailor service verifyCredentials|getMetaModel|selectModel
CMD ["python", "-m", "elasticio_sailor", "run"]
