import { createServer, type Server } from "node:http";

interface AlertmanagerPayload {
  status: string;
  alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }>;
}

/**
 * The stack's Alertmanager receiver: prints each notification as a line, so a person running
 * `npm start` sees alerts arrive without setting up a chat or pager integration.
 */
export async function startAlertWebhook(
  port: number,
  write: (line: string) => void,
): Promise<{ close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      try {
        const payload = JSON.parse(Buffer.concat(chunks).toString("utf8")) as AlertmanagerPayload;
        for (const alert of payload.alerts ?? []) {
          const where = ["tenant", "site", "machine", "device"]
            .filter((k) => alert.labels[k])
            .map((k) => `${k}=${alert.labels[k]}`)
            .join(" ");
          write(
            `ALERT ${alert.status.toUpperCase()} ${alert.labels.alertname} ${where} — ${alert.annotations.summary ?? ""}`,
          );
        }
        res.end("ok\n");
      } catch {
        res.statusCode = 400;
        res.end("expected an Alertmanager webhook payload\n");
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return { close: () => new Promise((resolve) => server.close(() => resolve())) };
}
