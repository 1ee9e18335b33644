// Entry point of widget.js: registers <ketamine-faq-chat>. Loading the script twice is harmless.
import { define, KetamineFaqChat } from './element.js';

define();
if (!window.KetamineFaqChat) window.KetamineFaqChat = KetamineFaqChat;
