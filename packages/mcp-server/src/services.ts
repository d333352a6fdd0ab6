import { type ChatContextManager, createChatContextManager } from '@convokit/context-manager';
import type { Clock, Logger, Storage } from '@convokit/core';
import { type ConversationalDataManager, createConversationalDataManager } from '@convokit/data-manager';
import { type ChatAnalyticsWorkflow, createChatAnalyticsWorkflow } from '@convokit/integrations/chat';

/** The two managers and the chat workflow over one storage, closed together. */
export interface ConvokitServices extends AsyncDisposable {
  storage: Storage;
  dataManager: ConversationalDataManager;
  contexts: ChatContextManager;
  workflow: ChatAnalyticsWorkflow;
  /** Closes the managers, then the storage. */
  close(): Promise<void>;
}

export function createConvokitServices(
  storage: Storage,
  options: { clock?: Clock; logger?: Logger } = {},
): ConvokitServices {
  const common = {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  };
  const dataManager = createConversationalDataManager({ storage, ...common });
  const contexts = createChatContextManager({ storage, ...common });
  const workflow = createChatAnalyticsWorkflow({
    dataManager,
    contexts,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      await dataManager.close();
      await contexts.close();
      await storage.close();
    })();
    return closed;
  };
  return { storage, dataManager, contexts, workflow, close, [Symbol.asyncDispose]: close };
}
