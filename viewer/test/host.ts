// A minimal MCP Apps host for the browser tests, built on ext-apps' host side (AppBridge): it connects to the
// server over streamable HTTP as an Apps-capable client, lists the tools as a host would for its model, opens
// view_series' ui:// resource in a sandboxed iframe, and records what the view hands to the model.

import {
  AppBridge,
  getToolUiResourceUri,
  isToolVisibilityAppOnly,
  PostMessageTransport,
  RESOURCE_MIME_TYPE,
} from "@modelcontextprotocol/ext-apps/app-bridge";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const UI_EXTENSION = "io.modelcontextprotocol/ui";

interface HostLog {
  listed: { name: string; appOnly: boolean }[]; // what the server lists to this Apps host
  modelTools: string[]; // what the host shows its model (app-only tools left out)
  plainClientTools: string[]; // what the server lists to a client without Apps
  resourceMimeType?: string;
  resourceCsp?: unknown;
  toolResult?: unknown;
  contexts: { content?: unknown[]; structuredContent?: Record<string, unknown> }[];
  sizes: { width?: number; height?: number }[];
}

const log: HostLog = { listed: [], modelTools: [], plainClientTools: [], contexts: [], sizes: [] };

async function connect(apps: boolean): Promise<Client> {
  const capabilities = apps ? { extensions: { [UI_EXTENSION]: { mimeTypes: [RESOURCE_MIME_TYPE] } } } : {};
  const client = new Client({ name: apps ? "viewer-test-host" : "plain-client", version: "1.0.0" }, { capabilities });
  await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", location.origin)));
  return client;
}

/** Open view_series with `args` in an iframe, as an MCP Apps host does. */
async function openView(args: Record<string, unknown>): Promise<void> {
  const plain = await connect(false);
  log.plainClientTools = (await plain.listTools()).tools.map((tool) => tool.name);
  await plain.close();

  const client = await connect(true);
  const tools = (await client.listTools()).tools;
  log.listed = tools.map((tool) => ({ name: tool.name, appOnly: isToolVisibilityAppOnly(tool) }));
  log.modelTools = tools.filter((tool) => !isToolVisibilityAppOnly(tool)).map((tool) => tool.name);
  const opener = tools.find((tool) => tool.name === "view_series");
  const uri = opener && getToolUiResourceUri(opener);
  if (!uri) throw new Error("view_series names no ui:// resource");
  const [content] = (await client.readResource({ uri })).contents as {
    mimeType?: string;
    text?: string;
    _meta?: { ui?: { csp?: unknown } };
  }[];
  log.resourceMimeType = content.mimeType;
  log.resourceCsp = content._meta?.ui?.csp;
  if (content.mimeType !== RESOURCE_MIME_TYPE || !content.text) throw new Error("not an MCP App resource");

  const iframe = document.createElement("iframe");
  iframe.sandbox.add("allow-scripts"); // an opaque origin: the view reaches nothing but its host
  iframe.title = "view_series";
  iframe.srcdoc = content.text;
  document.getElementById("chat")?.append(iframe);

  const bridge = new AppBridge(
    client,
    { name: "viewer-test-host", version: "1.0.0" },
    { serverTools: {}, serverResources: {}, logging: {}, updateModelContext: { text: {}, image: {}, structuredContent: {} } },
    { hostContext: { theme: "light", displayMode: "inline", platform: "web" } },
  );
  bridge.onupdatemodelcontext = async (params) => {
    log.contexts.push(params);
    return {};
  };
  bridge.onsizechange = ({ width, height }) => {
    log.sizes.push({ width, height });
    if (height) iframe.style.height = `${height}px`;
  };
  bridge.oninitialized = () => {
    void (async () => {
      await bridge.sendToolInput({ arguments: args });
      const result = await client.callTool({ name: "view_series", arguments: args });
      log.toolResult = result;
      await bridge.sendToolResult(result as Parameters<typeof bridge.sendToolResult>[0]);
    })();
  };
  const frame = iframe.contentWindow as Window;
  await bridge.connect(new PostMessageTransport(frame, frame));
}

Object.assign(globalThis, { hostLog: log, openView });
