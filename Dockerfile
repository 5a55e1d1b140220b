# Mirrors `make run`: same requirements, same install, same start command. (Not buildable on the dev
# machines, which have no Docker engine.) Data: mount ../shared/data at /data or let `make data` download it.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends make libxrender1 libxext6 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home odordiff
WORKDIR /home/odordiff/app
COPY --chown=odordiff:odordiff . .
USER odordiff
ENV ODORDIFF_DATA_DIR=/data HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
RUN make install
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health')"
CMD ["sh", "-c", "make data && .venv/bin/streamlit run app.py --server.address 0.0.0.0 --server.port 8501 --server.headless true --browser.gatherUsageStats false"]
