# Mirrors `make run`: same requirements, same install, same start command. (Not buildable on the dev
# machines, which have no Docker engine.) Data: `make data` runs at build time, so the image holds the pinned,
# checksummed files in /data; the container never downloads. To use your own copy instead, build with
# --build-arg ODORDIFF_FETCH_DATA=0 and mount ../shared/data at /data: the start command only verifies it and
# stops with the fix when a file is missing or altered.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends make libxrender1 libxext6 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home odordiff && mkdir /data && chown odordiff:odordiff /data
WORKDIR /home/odordiff/app
COPY --chown=odordiff:odordiff . .
USER odordiff
ENV ODORDIFF_DATA_DIR=/data HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
RUN make install
ARG ODORDIFF_FETCH_DATA=1
RUN if [ "$ODORDIFF_FETCH_DATA" = 1 ]; then make data; fi
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health')"
CMD ["sh", "-c", ".venv/bin/odordiff data check && .venv/bin/odordiff data weights && .venv/bin/python -m app_ui.serve --server.address 0.0.0.0 --server.port 8501 --server.headless true --browser.gatherUsageStats false"]
